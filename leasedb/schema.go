package leasedb

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"

	"github.com/sharestore/sharestore"
)

// SchemaVersion is the schema version this package writes and the newest it
// reads. Version 1 is Tahoe's leasedb V1; version 2 adds the share_coming
// side table; version 3 adds crawler_prefix_results; version 4 adds
// crawler_cycles and crawler_claims, through which workers share a cycle.
// Open migrates older versions up to this one.
const SchemaVersion = 4

// schemaV1 is Tahoe-LAFS's LEASE_SCHEMA_V1 (src/allmydata/storage/leasedb.py
// on the 1819-cloud-merge branch), statement for statement, so that the SQL
// recorded in sqlite_master is Tahoe's. The seed rows use single quotes;
// their values are Tahoe's.
var schemaV1 = []string{
	"CREATE TABLE `version`\n(\n version INTEGER -- contains one row, set to 1\n)",
	"CREATE TABLE `shares`\n(\n `storage_index` VARCHAR(26) not null,\n `shnum` INTEGER not null,\n `prefix` VARCHAR(2) not null,\n" +
		" `backend_key` VARCHAR,         -- not used by current backends; NULL means '$prefix/$storage_index/$shnum'\n" +
		" `used_space` INTEGER not null,\n `sharetype` INTEGER not null,  -- SHARETYPE_*\n `state` INTEGER not null,      -- STATE_*\n" +
		" PRIMARY KEY (`storage_index`, `shnum`)\n)",
	"CREATE INDEX `prefix` ON `shares` (`prefix`)",
	"CREATE TABLE `leases`\n(\n `storage_index` VARCHAR(26) not null,\n `shnum` INTEGER not null,\n `account_id` INTEGER not null,\n" +
		" `renewal_time` INTEGER not null, -- duration is implicit: expiration-renewal\n" +
		" `expiration_time` INTEGER,       -- seconds since epoch; NULL means the end of time\n" +
		" FOREIGN KEY (`storage_index`, `shnum`) REFERENCES `shares` (`storage_index`, `shnum`),\n" +
		" FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`)\n" +
		" PRIMARY KEY (`storage_index`, `shnum`, `account_id`)\n)",
	"CREATE INDEX `account_id` ON `leases` (`account_id`)",
	"CREATE INDEX `expiration_time` ON `leases` (`expiration_time`)",
	"CREATE TABLE accounts\n(\n `id` INTEGER PRIMARY KEY AUTOINCREMENT,\n `pubkey_vs` VARCHAR(52),\n `creation_time` INTEGER\n)",
	"CREATE UNIQUE INDEX `pubkey_vs` ON `accounts` (`pubkey_vs`)",
	"CREATE TABLE account_attributes\n(\n `id` INTEGER PRIMARY KEY AUTOINCREMENT,\n `account_id` INTEGER,\n `name` VARCHAR(20),\n" +
		" `value` VARCHAR(20) -- actually anything: usually string, unicode, integer\n)",
	"CREATE UNIQUE INDEX `account_attr` ON `account_attributes` (`account_id`, `name`)",
	"INSERT INTO `accounts` VALUES (0, 'anonymous', 0)",
	"INSERT INTO `accounts` VALUES (1, 'starter', 0)",
	"CREATE TABLE crawler_history\n(\n `cycle` INTEGER,\n `json` TEXT\n)",
	"CREATE UNIQUE INDEX `cycle` ON `crawler_history` (`cycle`)",
	"INSERT INTO `version` VALUES (1)",
}

// migration moves a database from version from to version from+1. It runs
// inside the transaction that Open uses to initialise the file, and must
// not touch the version table: Open does that.
type migration struct {
	from int
	name string
	stmt []string
}

// migrations lists every step from version 1 up to SchemaVersion, in order.
// To add version N+1, append a migration with from N and raise
// SchemaVersion.
var migrations = []migration{
	{
		from: 1,
		name: "share_coming: when each COMING row entered COMING",
		stmt: []string{
			// No foreign key: the row is kept in step with `shares` by this
			// package, and Tahoe's V1 tables stay exactly as they were.
			"CREATE TABLE `share_coming`\n(\n `storage_index` VARCHAR(26) not null,\n `shnum` INTEGER not null,\n" +
				" `coming_since` INTEGER not null, -- seconds since epoch; 0 means before the migration to version 2\n" +
				" PRIMARY KEY (`storage_index`, `shnum`)\n)",
			"CREATE INDEX `coming_since` ON `share_coming` (`coming_since`)",
			"INSERT INTO `share_coming` SELECT `storage_index`, `shnum`, 0 FROM `shares` WHERE `state` = 0",
		},
	},
	{
		from: 2,
		name: "crawler_prefix_results: each prefix's result, committed with the prefix's work",
		stmt: []string{
			"CREATE TABLE `crawler_prefix_results`\n(\n `crawler` VARCHAR(32) not null,\n `prefix` VARCHAR(2) not null,\n" +
				" `cycle_id` VARCHAR(64) not null,\n `json` TEXT not null,\n PRIMARY KEY (`crawler`, `prefix`)\n)",
		},
	},
	{
		from: 3,
		name: "crawler_cycles and crawler_claims: one cycle shared by several workers",
		stmt: []string{
			"CREATE TABLE `crawler_cycles`\n(\n `crawler` VARCHAR(32) not null PRIMARY KEY,\n `cycle` INTEGER not null,\n" +
				" `cycle_id` VARCHAR(64) not null,\n `start_ns` INTEGER not null,\n `state` INTEGER not null, -- 1 starting, 2 running, 3 finishing, 4 finished\n" +
				" `holder` VARCHAR(128), -- the worker starting or finishing it\n `deadline_ns` INTEGER,\n `end_ns` INTEGER,\n" +
				" `store` TEXT not null,\n `extra` TEXT\n)",
			"CREATE TABLE `crawler_claims`\n(\n `crawler` VARCHAR(32) not null,\n `prefix` VARCHAR(2) not null,\n `cycle_id` VARCHAR(64) not null,\n" +
				" `holder` VARCHAR(128),\n `deadline_ns` INTEGER,\n `done` INTEGER not null,\n `attempts` INTEGER not null,\n" +
				" `failure` TEXT,\n `result` TEXT,\n PRIMARY KEY (`crawler`, `prefix`)\n)",
		},
	},
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// catalog is what the engine's system tables say of a database: whether
// it holds any object at all, and which tables it has.
type catalog struct {
	empty  bool
	tables map[string]bool
}

// tableNames reads a catalog query's rows of table names, and closes
// them.
func (db *DB) tableNames(rows *sql.Rows) (map[string]bool, error) {
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, db.classify(err, "read schema")
		}
		names[name] = true
	}
	return names, db.classify(rows.Err(), "read schema")
}

// checkVersion returns 0 for an empty database, or the schema version of
// a lease database this package can open (1..SchemaVersion), given the
// database's catalog. It returns an ErrCorrupt error for anything else.
func (db *DB) checkVersion(ctx context.Context, q queryRower, c catalog) (int, error) {
	if c.empty {
		return 0, nil
	}
	if !c.tables["version"] {
		return 0, db.eng.damaged(db, db.eng.name()+" database without a `version` table, so not a lease database")
	}
	var rows int
	var v sql.NullInt64
	err := q.QueryRowContext(ctx, db.eng.rebind("SELECT count(*), max(`version`) FROM `version`")).Scan(&rows, &v)
	if err != nil {
		return 0, db.classify(err, "read version")
	}
	if rows != 1 || !v.Valid {
		return 0, db.eng.damaged(db, fmt.Sprintf("the `version` table has %d rows instead of one", rows))
	}
	if v.Int64 < 1 || v.Int64 > SchemaVersion {
		return 0, db.eng.damaged(db, fmt.Sprintf("unknown schema version %d (this program reads versions 1 to %d; "+
			"if a newer sharestore wrote it, run that instead)", v.Int64, SchemaVersion))
	}
	// Another program's database may have a `version` table too: every
	// table of this version must be there before anything is written.
	for _, name := range tablesOf(int(v.Int64)) {
		if !c.tables[name] {
			return 0, db.eng.damaged(db, fmt.Sprintf("%s database with a `version` table (version %d) but no `%s` table, so not a lease database", db.eng.name(), v.Int64, name))
		}
	}
	return int(v.Int64), nil
}

// migrate brings a database of the given version (0: empty) up to
// SchemaVersion inside tx: v1 creates version 1 (the engine's
// translation of schemaV1), and the engine translates each migration's
// statements. It sets the version row last.
func (db *DB) migrate(ctx context.Context, tx execer, version int, v1 []string) error {
	if version == 0 {
		for _, s := range v1 {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return db.classify(err, "create schema")
			}
		}
		version = 1
	}
	for _, m := range migrations {
		if m.from != version {
			continue
		}
		for _, s := range m.stmt {
			if _, err := tx.ExecContext(ctx, db.eng.ddl(s)); err != nil {
				return db.classify(err, fmt.Sprintf("migrate from version %d (%s)", m.from, m.name))
			}
		}
		version = m.from + 1
	}
	if version != SchemaVersion {
		return sharestore.Errorf(sharestore.ErrInternal, "leasedb %s: no migration from version %d", db.path, version)
	}
	if _, err := tx.ExecContext(ctx, db.eng.rebind("UPDATE `version` SET `version` = ?"), SchemaVersion); err != nil {
		return db.classify(err, "set version")
	}
	return nil
}

// createTable matches the statements of schemaV1 and migrations that
// create a table, capturing its name.
var createTable = regexp.MustCompile("^CREATE TABLE `?([A-Za-z_]+)`?")

// tablesOf returns the tables of a lease database of the given schema
// version, read from the statements that create them.
func tablesOf(version int) []string {
	var out []string
	add := func(stmts []string) {
		for _, s := range stmts {
			if m := createTable.FindStringSubmatch(s); m != nil {
				out = append(out, m[1])
			}
		}
	}
	add(schemaV1)
	for _, m := range migrations {
		if m.from < version {
			add(m.stmt)
		}
	}
	return out
}
