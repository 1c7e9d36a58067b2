#!/usr/bin/env python3
# INSERT OR REPLACE against an upsert (INSERT ... ON CONFLICT(key) DO UPDATE)
# on a rowid key/value table (issue 21): 50,000 loads of 1,000-byte values,
# then 10,000 single-statement overwrites of random keys; bytes on disk per
# record after a checkpoint. REPLACE deletes the row and appends a new one
# (new rowid, index entry rewritten); the upsert updates it in place.
import os, random, time

import sqlite3

N = 50000
VS = 1000
random.seed(1)
vals = [bytes(random.randrange(32, 127) for _ in range(VS)) for _ in range(64)]
order = list(range(N))
random.shuffle(order)
work = os.environ.get('TMPDIR', '/tmp')
for name, sql in [('replace', 'INSERT OR REPLACE INTO t(key,value) VALUES(?,?)'),
                  ('upsert', 'INSERT INTO t(key,value) VALUES(?1,?2) '
                             'ON CONFLICT(key) DO UPDATE SET value=excluded.value')]:
    f = os.path.join(work, 'kalam-upsert-%s.db' % name)
    for s in ('', '-wal', '-shm'):
        if os.path.exists(f + s):
            os.remove(f + s)
    c = sqlite3.connect(f, isolation_level=None)
    c.execute('PRAGMA journal_mode=WAL')
    c.execute('PRAGMA synchronous=NORMAL')
    c.execute('PRAGMA cache_size=-8192')
    c.execute('CREATE TABLE t(key BLOB PRIMARY KEY, value BLOB NOT NULL)')
    t = time.time()
    for s in range(0, N, 1000):
        c.execute('BEGIN IMMEDIATE')
        c.executemany(sql, [(b'%016d' % (2 * i), vals[i % 64]) for i in order[s:s + 1000]])
        c.execute('COMMIT')
    tl = time.time() - t
    t = time.time()
    for j in range(10000):
        i = random.randrange(N)
        c.execute(sql, (b'%016d' % (2 * i), vals[j % 64]))
    tu = time.time() - t
    c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    print(name, 'load %.0f/s upd %.0f/s bytes/rec %.0f' % (N / tl, 10000 / tu, os.path.getsize(f) / N))
    c.close()
    for s in ('', '-wal', '-shm'):
        if os.path.exists(f + s):
            os.remove(f + s)
