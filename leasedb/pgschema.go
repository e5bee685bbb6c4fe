package leasedb

import (
	"context"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/sharestore/sharestore"
)

// NewPostgresSchema creates the schema name in the PostgreSQL database
// that base names, and returns base's URL with search_path set to that
// schema, so that OpenURL of it opens an empty lease database of its own
// there, and a function that drops the schema with everything in it. It
// is for throwaway lease databases, such as the conformance suite's
// crawler scenarios; the role in base needs the CREATE privilege on the
// database. Errors are classified as OpenURL's are.
func NewPostgresSchema(ctx context.Context, base, name string) (string, func(context.Context) error, error) {
	db := &DB{path: RedactURL(base), eng: &postgresEngine{}}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, sharestore.Wrap(sharestore.ErrInvalidArgument, err, "leasedb "+db.path+": not a PostgreSQL connection URL")
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, db.connectErr(err)
	}
	defer conn.Close(ctx)
	quoted := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+quoted); err != nil {
		return "", nil, db.classify(err, "create schema "+name)
	}
	drop := func(ctx context.Context) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return db.connectErr(err)
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP SCHEMA "+quoted+" CASCADE")
		return db.classify(err, "drop schema "+name)
	}
	return u.String(), drop, nil
}
