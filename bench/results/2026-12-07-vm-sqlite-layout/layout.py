#!/usr/bin/env python3
# SQLite key/value table layouts for issue 21, measured with the system
# libsqlite3 through Python's sqlite3 module (Debian 12: SQLite 3.40.1).
#
#   python3 layout.py [records] [value bytes] [layouts...]
#
# Per layout: load `records` 16-byte keys (zero-padded decimal, random order,
# 1,000 per transaction, INSERT OR REPLACE as plugin format 1 did), then
# checkpoint and report bytes on disk per record; 5,000 single-statement
# overwrites (autocommit) and the size after them; 20,000 point reads.
# WAL, synchronous=NORMAL, cache_size 8 MiB: the plugin's settings.
import os, random, sys, time

import sqlite3

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
VS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
LAYOUTS = {
    'worowid4k': (4096, "CREATE TABLE t(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"),
    'worowid8k': (8192, "CREATE TABLE t(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"),
    'worowid16k': (16384, "CREATE TABLE t(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID"),
    'rowid4k': (4096, "CREATE TABLE t(key BLOB PRIMARY KEY, value BLOB NOT NULL)"),
    'rowid8k': (8192, "CREATE TABLE t(key BLOB PRIMARY KEY, value BLOB NOT NULL)"),
    'rowid16k': (16384, "CREATE TABLE t(key BLOB PRIMARY KEY, value BLOB NOT NULL)"),
}
chosen = sys.argv[3:] or list(LAYOUTS)
random.seed(1)
vals = [bytes(random.randrange(32, 127) for _ in range(VS)) for _ in range(64)]
order = list(range(N))
random.shuffle(order)
work = os.environ.get('TMPDIR', '/tmp')
for name in chosen:
    ps, ddl = LAYOUTS[name]
    f = os.path.join(work, 'kalam-layout-%s.db' % name)
    for s in ('', '-wal', '-shm'):
        if os.path.exists(f + s):
            os.remove(f + s)
    c = sqlite3.connect(f, isolation_level=None)
    c.execute('PRAGMA page_size=%d' % ps)
    c.execute('PRAGMA journal_mode=WAL')
    c.execute('PRAGMA synchronous=NORMAL')
    c.execute('PRAGMA cache_size=-8192')
    c.execute(ddl)
    t = time.time()
    for s in range(0, N, 1000):
        c.execute('BEGIN IMMEDIATE')
        c.executemany('INSERT OR REPLACE INTO t(key,value) VALUES(?,?)',
                      [(b'%016d' % (2 * i), vals[i % 64]) for i in order[s:s + 1000]])
        c.execute('COMMIT')
    tl = time.time() - t
    c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    sz = os.path.getsize(f)
    t = time.time()
    for j in range(5000):
        i = random.randrange(N)
        c.execute('INSERT OR REPLACE INTO t(key,value) VALUES(?,?)', (b'%016d' % (2 * i), vals[j % 64]))
    tu = time.time() - t
    t = time.time()
    for j in range(20000):
        i = random.randrange(N)
        c.execute('SELECT value FROM t WHERE key=?', (b'%016d' % (2 * i),)).fetchone()
    tr = time.time() - t
    c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    sz2 = os.path.getsize(f)
    c.close()
    for s in ('', '-wal', '-shm'):
        if os.path.exists(f + s):
            os.remove(f + s)
    print('%-11s load %.0f rec/s  bytes/rec %.0f (after upd %.0f) upd %.0f/s get %.0f/s'
          % (name, N / tl, sz / N, sz2 / N, 5000 / tu, 20000 / tr), flush=True)
