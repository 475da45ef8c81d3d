/*
 * What a Node process cannot do about its memory from JavaScript:
 *
 * - hand the free memory inside glibc's heaps back to the system. glibc
 *   gives a heap back only from its top. After a load, the heap's top is
 *   usually in use while megabytes below it are free but still resident,
 *   and they stay so for as long as the process lives (docs/design.md,
 *   "Memory"). malloc_trim(0) releases every free page in every arena;
 * - have LevelDB read its tables without mmap. LevelDB 1.20 (inside
 *   classic-level) maps every table it opens on a 64-bit system, and every
 *   page a read touches (with the kernel's fault-around, 64 KiB at a time)
 *   stays in the process until the table is closed, outside the block
 *   cache's bound. Its own switch for that, the one 32-bit systems get by
 *   default, is EnvPosixTestHelper::SetReadOnlyMMapLimit, exported by
 *   classic-level's binary.
 *
 * Built for each architecture by scripts/build-native.ts; loaded by
 * src/platform/memory/native.ts.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <node_api.h>

/* release(): true when some memory went back to the system. */
static napi_value release(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_get_boolean(env, malloc_trim(0) == 1, &result) != napi_ok) return NULL;
  return result;
}

/* freeBytes(): bytes glibc holds free in its arenas, resident or not. */
static napi_value free_bytes(napi_env env, napi_callback_info info) {
  (void)info;
  struct mallinfo2 m = mallinfo2();
  napi_value result;
  if (napi_create_double(env, (double)m.fordblks, &result) != napi_ok) return NULL;
  return result;
}

/* leveldb::EnvPosixTestHelper::SetReadOnlyMMapLimit(int), a static member function. */
#define SET_MMAP_LIMIT "_ZN7leveldb18EnvPosixTestHelper20SetReadOnlyMMapLimitEi"

/*
 * tableReadsWithoutMmap(path): path is classic-level's binary, already
 * loaded. LevelDB reads the limit when its default environment is made,
 * at the first database's open, and asserts there is none yet: the caller
 * calls this before any database of the process is opened. False if the
 * binary is not loaded or has no such switch.
 */
static napi_value table_reads_without_mmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result;
  char path[4096];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, arg, path, sizeof path, &len) != napi_ok || len >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "tableReadsWithoutMmap(path): the path of classic-level's binary");
    return NULL;
  }
  int done = 0;
  void *lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (lib) {
    void (*set_limit)(int) = (void (*)(int))dlsym(lib, SET_MMAP_LIMIT);
    if (set_limit) {
      set_limit(0);
      done = 1;
    }
    dlclose(lib);
  }
  if (napi_get_boolean(env, done, &result) != napi_ok) return NULL;
  return result;
}

static int export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!export_function(env, exports, "release", release) || !export_function(env, exports, "freeBytes", free_bytes) ||
      !export_function(env, exports, "tableReadsWithoutMmap", table_reads_without_mmap))
    return NULL;
  return exports;
}
