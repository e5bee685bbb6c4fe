// Package statedir holds what makes a state directory and a store belong
// to each other:
//
//   - Lock: a state directory (crawler state files and the lease
//     database) is used by one process at a time, enforced with flock on
//     STATEDIR/lock, which names the holder's PID and command;
//   - Owner: the store carries an ownership marker (a MetaStore record,
//     OwnerMarkerName) naming the state directory whose lease database
//     collects its garbage. A crawl whose state directory does not own
//     the store may list and record, but never delete; taking a store
//     over is explicit.
package statedir
