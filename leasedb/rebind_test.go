package leasedb

import "testing"

func TestRebindPostgres(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT `a` FROM `t` WHERE `b` = ? AND `c` = ?", `SELECT "a" FROM "t" WHERE "b" = $1 AND "c" = $2`},
		{"WHERE x >= ?1 AND x < ?1 || '~' AND y = ?", "WHERE x >= $1 AND x < $1 || '~' AND y = $2"},
		{"VALUES (?2, ?1, ?)", "VALUES ($2, $1, $3)"},
		{"SELECT '?' , 'it''s `x` ?', ?", "SELECT '?' , 'it''s `x` ?', $1"},
		{"CREATE TABLE `t` (\n `a` INT -- a `note` with ? in it\n, `b` INT)", "CREATE TABLE \"t\" (\n \"a\" INT -- a `note` with ? in it\n, \"b\" INT)"},
		{"SELECT 1 -- trailing ?", "SELECT 1 -- trailing ?"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
		{"a - b - ?", "a - b - $1"},
	} {
		if got := rebindPostgres(c.in); got != c.want {
			t.Errorf("rebindPostgres(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
