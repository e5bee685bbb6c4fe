package leasedb

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps statements prepared on one pool (the writer's single
// connection, or the readers'), by query. A transaction that finds its
// query here binds the statement with Tx.StmtContext, which database/sql
// prepares once per connection and then reuses, instead of preparing
// it again in every transaction; a steady crawl runs a few short
// transactions per prefix, and a prepare costs as much as the query.
type stmtCache struct {
	pool *sql.DB

	mu        sync.Mutex
	m         map[string]*sql.Stmt
	preparing map[string]bool
	closed    bool
}

// get returns the statement prepared for query, or nil.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepareLater prepares queries in the background, for later
// transactions. It is called when a transaction ends, so its connection
// is free; nobody waits for the prepare. A query that fails to prepare
// is prepared in each transaction, as before.
func (c *stmtCache) prepareLater(queries []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.pool == nil {
		return
	}
	var todo []string
	for _, q := range queries {
		if _, ok := c.m[q]; ok || c.preparing[q] {
			continue
		}
		if c.preparing == nil {
			c.preparing = map[string]bool{}
		}
		c.preparing[q] = true
		todo = append(todo, q)
	}
	if len(todo) > 0 {
		go c.prepare(todo)
	}
}

// prepare prepares queries on the pool and keeps them.
func (c *stmtCache) prepare(queries []string) {
	for _, q := range queries {
		s, err := c.pool.PrepareContext(context.Background(), q)
		c.mu.Lock()
		switch {
		case err != nil:
		case c.closed:
			s.Close()
		default:
			if c.m == nil {
				c.m = map[string]*sql.Stmt{}
			}
			c.m[q] = s
		}
		c.mu.Unlock()
	}
}

// close closes the kept statements; nothing is kept after.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m, c.closed = nil, true
}
