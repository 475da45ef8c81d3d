/*
 * The one thing about memory a Node process cannot do from JavaScript:
 * hand the free memory inside glibc's heaps back to the system.
 *
 * glibc gives a heap back only from its top. After a load, the heap's top
 * is usually in use while megabytes below it are free but still resident,
 * and they stay so for as long as the process lives (docs/design.md,
 * "Memory"). malloc_trim(0) releases every free page in every arena.
 *
 * Built for each architecture by scripts/build-native.ts; loaded by
 * src/platform/memory/native.ts.
 */
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

static int export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!export_function(env, exports, "release", release) || !export_function(env, exports, "freeBytes", free_bytes)) return NULL;
  return exports;
}
