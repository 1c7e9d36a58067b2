// The cost of a named LMDB database per commit (issue 21): n single-put
// write transactions of random 16-byte keys and `value size`-byte values
// into the unnamed main database (named = 0) or into a named one
// "default" (named = 1, what the LMDB plugin and kalam-bench's native
// LMDB mode use), MDB_NOTLS | MDB_NOSYNC as the benchmark runs.
//   cc -O2 subdb.c -llmdb -o subdb && mkdir d && \
//   strace -f -e trace=pwrite64,writev -o w.txt ./subdb d 1 20000 1000
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
// usage: t <dir> <named:0|1> <n> <value size>
int main(int argc, char** argv) {
  const char* dir = argv[1];
  int named = atoi(argv[2]);
  int n = atoi(argv[3]);
  int vs = atoi(argv[4]);
  MDB_env* env;
  mdb_env_create(&env);
  mdb_env_set_mapsize(env, 1ull << 30);
  mdb_env_set_maxdbs(env, 64);
  if (mdb_env_open(env, dir, MDB_NOTLS | MDB_NOSYNC, 0644)) return 1;
  MDB_txn* txn;
  MDB_dbi dbi;
  mdb_txn_begin(env, NULL, 0, &txn);
  if (mdb_dbi_open(txn, named ? "default" : NULL, MDB_CREATE, &dbi)) return 2;
  mdb_txn_commit(txn);
  char* v = malloc(vs);
  memset(v, 'x', vs);
  char k[17];
  unsigned long long x = 88172645463325252ull;
  for (int i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    snprintf(k, sizeof k, "%016llu", (x % 100000000ull) * 2);
    MDB_val kv = {16, k}, vv = {vs, v};
    mdb_txn_begin(env, NULL, 0, &txn);
    if (mdb_put(txn, dbi, &kv, &vv, 0)) return 3;
    mdb_txn_commit(txn);
  }
  mdb_env_close(env);
  return 0;
}
