package leasedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sharestore/sharestore"
)

// Change tracking. Every insert, update or delete of a `shares` or
// `leases` row adds one to its prefix's generation in `prefix_changes`,
// through triggers that live in the database file, so a row written by
// any program (another sharestore, a storage server, the sqlite3 shell)
// counts as well as one written by this package. A crawler can store a
// memo of a prefix (PutPrefixMemo) and, in a later cycle, learn in one
// indexed read whether any row of that prefix changed since
// (PrefixMemo).
//
// The tracking objects are derived state, not data: they are not part
// of the schema version, Open creates them in any database that lacks
// them, and dropping them loses nothing. When Open has to create a
// trigger, changes made while it was missing went unseen, so Open
// forgets every generation and memo at the same time. A prefix without
// a `prefix_changes` row has no valid memo.

// changeTracking creates the tracking tables and triggers. Each
// statement is idempotent.
var changeTracking = []string{
	"CREATE TABLE IF NOT EXISTS `prefix_changes`\n(\n `prefix` VARCHAR(2) not null PRIMARY KEY,\n" +
		" `generation` INTEGER not null -- raised by the prefix_changes_* triggers on every write to the prefix's shares and leases\n)",
	"CREATE TABLE IF NOT EXISTS `crawler_prefix_memos`\n(\n `crawler` VARCHAR(32) not null,\n `prefix` VARCHAR(2) not null,\n" +
		" `generation` INTEGER not null, -- the prefix's generation when the memo was stored\n `json` TEXT not null,\n PRIMARY KEY (`crawler`, `prefix`)\n)",
}

// trackedTables are the tables the triggers write, by name.
var trackedTables = []string{"shares", "leases"}

// sqliteTriggers are SQLite's tracking triggers, one per table and write:
// each raises the generation of the prefixes a row write touches. The
// prefix is taken from the storage index, which is what every
// per-prefix read selects on.
var sqliteTriggers = func() []string {
	var out []string
	for _, table := range trackedTables {
		for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
			var where string
			switch op {
			case "INSERT":
				where = "= substr(NEW.`storage_index`, 1, 2)"
			case "DELETE":
				where = "= substr(OLD.`storage_index`, 1, 2)"
			default:
				where = "IN (substr(OLD.`storage_index`, 1, 2), substr(NEW.`storage_index`, 1, 2))"
			}
			out = append(out, fmt.Sprintf("CREATE TRIGGER IF NOT EXISTS `%s` AFTER %s ON `%s` BEGIN"+
				" UPDATE `prefix_changes` SET `generation` = `generation` + 1 WHERE `prefix` %s; END", triggerName(table, op), op, table, where))
		}
	}
	return out
}()

// triggerName is the name of the tracking trigger of a write op (INSERT,
// UPDATE or DELETE) to table, the same on every engine.
func triggerName(table, op string) string {
	return "prefix_changes_" + table + "_" + strings.ToLower(op)
}

// trackedTriggerCount is how many tracking triggers a database has when
// none is missing.
var trackedTriggerCount = 3 * len(trackedTables)

// execer is what ensureChangeTracking needs of a transaction.
type execer interface {
	queryRower
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ensureChangeTracking creates whatever tracking object is missing,
// given the engine's count of those that exist and its statements that
// create the triggers (each idempotent). It writes nothing when all of
// them exist.
func (db *DB) ensureChangeTracking(ctx context.Context, tx execer, count func(context.Context, execer) (tables, triggers int, err error), triggers []string) error {
	tables, have, err := count(ctx, tx)
	if err != nil {
		return db.classify(err, "read schema")
	}
	if tables == len(changeTracking) && have == trackedTriggerCount {
		return nil
	}
	for _, s := range changeTracking {
		if _, err := tx.ExecContext(ctx, db.eng.ddl(s)); err != nil {
			return db.classify(err, "create change tracking")
		}
	}
	// Some writes may have gone unseen: no memo can be trusted.
	for _, s := range []string{"DELETE FROM `prefix_changes`", "DELETE FROM `crawler_prefix_memos`"} {
		if _, err := tx.ExecContext(ctx, db.eng.rebind(s)); err != nil {
			return db.classify(err, "reset change tracking")
		}
	}
	for _, t := range triggers {
		if _, err := tx.ExecContext(ctx, t); err != nil {
			return db.classify(err, "create change tracking")
		}
	}
	return nil
}

// PutPrefixMemo stores memo as crawler's memo of prefix, replacing any
// earlier one, stamped with the prefix's current generation: writes made
// earlier in the same transaction are part of what the memo describes.
func (tx *Tx) PutPrefixMemo(ctx context.Context, crawler string, prefix sharestore.Prefix, memo json.RawMessage) error {
	if err := tx.checkWritable("put prefix memo"); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "put prefix memo", "INSERT INTO `prefix_changes` VALUES (?, 0) ON CONFLICT DO NOTHING", string(prefix)); err != nil {
		return err
	}
	_, err := tx.exec(ctx, "put prefix memo", "INSERT INTO `crawler_prefix_memos`"+
		" SELECT ?, `prefix`, `generation`, ? FROM `prefix_changes` WHERE `prefix` = ?"+
		" ON CONFLICT (`crawler`, `prefix`) DO UPDATE SET `generation` = excluded.`generation`, `json` = excluded.`json`", crawler, string(memo), string(prefix))
	return err
}

// PrefixMemo returns crawler's memo of prefix if no row of `shares` or
// `leases` in that prefix was inserted, updated or deleted since
// PutPrefixMemo stored it, by any program. ok is false if there is no
// memo or if the prefix changed since.
func (tx *Tx) PrefixMemo(ctx context.Context, crawler string, prefix sharestore.Prefix) (memo json.RawMessage, ok bool, err error) {
	s, err := tx.stmt(ctx, "SELECT m.`json` FROM `crawler_prefix_memos` m JOIN `prefix_changes` g"+
		" ON g.`prefix` = m.`prefix` AND g.`generation` = m.`generation` WHERE m.`crawler` = ? AND m.`prefix` = ?")
	if err != nil {
		return nil, false, err
	}
	var js string
	switch err := s.QueryRowContext(ctx, crawler, string(prefix)).Scan(&js); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, tx.db.classify(err, "read prefix memo")
	}
	return json.RawMessage(js), true, nil
}

// PrefixMemos returns crawler's valid memos (see PrefixMemo), by prefix.
func (tx *Tx) PrefixMemos(ctx context.Context, crawler string) (map[sharestore.Prefix]json.RawMessage, error) {
	return tx.byPrefix(ctx, "read prefix memos", "SELECT m.`prefix`, m.`json` FROM `crawler_prefix_memos` m JOIN `prefix_changes` g"+
		" ON g.`prefix` = m.`prefix` AND g.`generation` = m.`generation` WHERE m.`crawler` = ?", crawler)
}
