/* Host test of the C API, built against libnaicfc.a and run under AddressSanitizer +
 * UndefinedBehaviorSanitizer and under valgrind by tests/tests/c_api.rs, which also generates
 * the two headers it includes:
 *   naicfc_model.h  the model, by `naicfc export-c`;
 *   golden.h        test vectors with the codes `naicfc encode` made and the floats
 *                   `naicfc decode` made at every budget.
 * Every check prints a line on failure; the exit code is 0 only if all passed. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "naicfc.h"
#include "naicfc_model.h"

static unsigned checks, failures;

#define CHECK(cond)                                                   \
  do {                                                                \
    checks++;                                                         \
    if (!(cond)) {                                                    \
      failures++;                                                     \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

#define CHECK_RESULT(call, want)                                                         \
  do {                                                                                   \
    naicfc_result got_ = (call);                                                         \
    checks++;                                                                            \
    if (got_ != (want)) {                                                                \
      failures++;                                                                        \
      fprintf(stderr, "FAIL %s:%d: %s gave %u (%s), want %s\n", __FILE__, __LINE__, #call, \
              (unsigned)got_, naicfc_strerror(got_), #want);                             \
    }                                                                                    \
  } while (0)

static int all_bytes(const void *p, size_t n, uint8_t value) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != value) return 0;
  return 1;
}

static void load_x(size_t v, float *x) { memcpy(x, golden_x[v], GOLDEN_DIM * sizeof(float)); }

static naicfc_model model;

static void test_versions(void) {
  CHECK(naicfc_version_number() == NAICFC_VERSION_NUMBER);
  CHECK(strcmp(naicfc_version(), NAICFC_VERSION_STRING) == 0);
  CHECK(NAICFC_VERSION_NUMBER ==
        (NAICFC_VERSION_MAJOR << 16 | NAICFC_VERSION_MINOR << 8 | NAICFC_VERSION_PATCH));
  CHECK(naicfc_format_version() >= 1);
}

static void test_strerror(void) {
  const naicfc_result all[] = {
      NAICFC_OK,           NAICFC_NULL_POINTER,        NAICFC_BAD_LENGTH,
      NAICFC_BAD_MODEL,    NAICFC_MODEL_VERSION,       NAICFC_MODEL_CHECKSUM,
      NAICFC_MODEL_TRUNCATED, NAICFC_BUDGET_TOO_SMALL, NAICFC_BUDGET_TOO_LARGE,
      NAICFC_OUTPUT_TOO_SMALL, NAICFC_NON_FINITE,      NAICFC_CORRUPT_STREAM,
      NAICFC_MODEL_UNINITIALIZED, NAICFC_MISALIGNED_POINTER, NAICFC_OVERLAPPING_BUFFERS,
      NAICFC_INTERNAL_ERROR, NAICFC_PANIC,       NAICFC_WORKSPACE_TOO_SMALL,
  };
  const size_t n = sizeof all / sizeof all[0];
  const char *unknown = naicfc_strerror(9999);
  CHECK(unknown != NULL && strstr(unknown, "unknown") != NULL);
  CHECK(naicfc_strerror(UINT32_MAX) == unknown);
  for (size_t i = 0; i < n; i++) {
    CHECK(all[i] == i); /* numbered in order, from 0 */
    const char *text = naicfc_strerror(all[i]);
    CHECK(text != NULL && text[0] != '\0' && text != unknown);
    for (size_t j = 0; j < i; j++) CHECK(strcmp(text, naicfc_strerror(all[j])) != 0);
  }
  CHECK(naicfc_strerror((naicfc_result)n) == unknown); /* one past the last code */
  CHECK(strcmp(naicfc_strerror(NAICFC_OK), "success") == 0);
}

static void test_model(void) {
  CHECK(sizeof(naicfc_model) == NAICFC_MODEL_WORDS * sizeof(size_t));
  CHECK(sizeof(naicfc_model_data) == NAICFC_MODEL_DATA_LEN);
  CHECK((uintptr_t)naicfc_model_data % 8 == 0); /* export-c aligns the array */

  CHECK_RESULT(naicfc_model_init(&model, naicfc_model_data, NAICFC_MODEL_DATA_LEN), NAICFC_OK);
  CHECK(naicfc_model_dim(&model) == GOLDEN_DIM);
  CHECK(naicfc_model_size(&model) == NAICFC_MODEL_DATA_LEN);
  size_t min = naicfc_model_min_budget(&model);
  CHECK(min >= 1 && min <= golden_budget[0]);
  CHECK(naicfc_model_budget_count(&model) == GOLDEN_BUDGETS);
  for (size_t b = 0; b < GOLDEN_BUDGETS; b++) CHECK(naicfc_model_budget(&model, b) == golden_budget[b]);
  CHECK(naicfc_model_budget(&model, GOLDEN_BUDGETS) == 0);
  CHECK(naicfc_model_budget(&model, SIZE_MAX) == 0);

  /* Getters answer 0 for unusable handles. */
  naicfc_model zeroed;
  memset(&zeroed, 0, sizeof zeroed);
  CHECK(naicfc_model_dim(NULL) == 0);
  CHECK(naicfc_model_dim(&zeroed) == 0);
  CHECK(naicfc_model_min_budget(&zeroed) == 0);
  CHECK(naicfc_model_budget_count(NULL) == 0);
  CHECK(naicfc_model_budget(NULL, 0) == 0);
  CHECK(naicfc_model_size(&zeroed) == 0);

  /* A copy of a handle is a second handle to the same model. */
  naicfc_model copy = model;
  CHECK(naicfc_model_dim(&copy) == GOLDEN_DIM);
}

/* Sums every byte of a handle and branches on the sum: valgrind reports the branch if any
 * byte is uninitialised (padding copied from the library's stack). */
static int handle_bytes_defined(const naicfc_model *m) {
  const unsigned char *b = (const unsigned char *)m;
  uint32_t sum = 0;
  for (size_t i = 0; i < sizeof *m; i++) sum = sum * 31u + b[i];
  return sum != 0u || b[0] == 0u;
}

/* After a successful init every byte of the handle is written: the words the library does
 * not use are zero, and nothing is left uninitialised (checked by valgrind). */
static void test_handle_fully_written(void) {
  naicfc_model m;
  memset(&m, 0x5A, sizeof m);
  CHECK_RESULT(naicfc_model_init(&m, naicfc_model_data, NAICFC_MODEL_DATA_LEN), NAICFC_OK);
  /* The last eight words are room for later versions today (about 40 of 64 are used). */
  CHECK(all_bytes((const uint8_t *)&m + sizeof m - 8 * sizeof(size_t), 8 * sizeof(size_t), 0));
  CHECK(handle_bytes_defined(&m));
  naicfc_model again;
  memset(&again, 0xA5, sizeof again);
  CHECK_RESULT(naicfc_model_init_trusted(&again, naicfc_model_data, NAICFC_MODEL_DATA_LEN),
               NAICFC_OK);
  /* Two inits of the same bytes give the same handle, byte for byte. */
  CHECK(memcmp(&m, &again, sizeof m) == 0);
}

/* naicfc_model_length: a model at the start of a larger region (a padded flash partition). */
static void test_model_length(void) {
  const size_t n = NAICFC_MODEL_DATA_LEN;
  const size_t pad = 4096;
  uint8_t *region = malloc(n + pad);
  memcpy(region, naicfc_model_data, n);
  memset(region + n, 0xFF, pad); /* erased flash */
  size_t len = 12345;
  naicfc_model m;

  CHECK_RESULT(naicfc_model_init(&m, region, n + pad), NAICFC_BAD_MODEL);
  CHECK_RESULT(naicfc_model_length(region, n + pad, &len), NAICFC_OK);
  CHECK(len == n);
  CHECK_RESULT(naicfc_model_init(&m, region, len), NAICFC_OK);
  CHECK(naicfc_model_size(&m) == n);
  len = 0;
  CHECK_RESULT(naicfc_model_length(region, n, &len), NAICFC_OK);
  CHECK(len == n);

  len = 12345;
  CHECK_RESULT(naicfc_model_length(region, n - 1, &len), NAICFC_MODEL_TRUNCATED);
  CHECK_RESULT(naicfc_model_length(region, 63, &len), NAICFC_MODEL_TRUNCATED);
  CHECK_RESULT(naicfc_model_length(NULL, 0, &len), NAICFC_MODEL_TRUNCATED);
  CHECK_RESULT(naicfc_model_length(NULL, 64, &len), NAICFC_NULL_POINTER);
  CHECK_RESULT(naicfc_model_length(region, n, NULL), NAICFC_NULL_POINTER);
  CHECK_RESULT(naicfc_model_length(region, SIZE_MAX, &len), NAICFC_BAD_LENGTH);
  CHECK_RESULT(naicfc_model_length(region, n, (size_t *)((char *)&len + 1)),
               NAICFC_MISALIGNED_POINTER);
  CHECK_RESULT(naicfc_model_length(region, n + pad, (size_t *)(region + 64)),
               NAICFC_OVERLAPPING_BUFFERS);
  region[1] ^= 0x01; /* magic */
  CHECK_RESULT(naicfc_model_length(region, n + pad, &len), NAICFC_BAD_MODEL);
  region[1] ^= 0x01;
  region[4] ^= 0x40; /* format version */
  CHECK_RESULT(naicfc_model_length(region, n + pad, &len), NAICFC_MODEL_VERSION);
  region[4] ^= 0x40;
  CHECK(len == 12345); /* no error wrote it */
  free(region);
}

/* naicfc_model_init_trusted: no checksum, every other check, the same codes. */
static void test_init_trusted(void) {
  const size_t n = NAICFC_MODEL_DATA_LEN;
  uint8_t *bytes = malloc(n);
  memcpy(bytes, naicfc_model_data, n);
  naicfc_model m, before;
  memset(&m, 0x5A, sizeof m);
  before = m;

  bytes[n - 1] ^= 0x80; /* the checksum only */
  CHECK_RESULT(naicfc_model_init(&m, bytes, n), NAICFC_MODEL_CHECKSUM);
  CHECK_RESULT(naicfc_model_init_trusted(NULL, bytes, n), NAICFC_NULL_POINTER);
  CHECK_RESULT(naicfc_model_init_trusted(&m, bytes, n - 1), NAICFC_MODEL_TRUNCATED);
  CHECK_RESULT(naicfc_model_init_trusted(&m, bytes, SIZE_MAX), NAICFC_BAD_LENGTH);
  bytes[0] ^= 0xFF;
  CHECK_RESULT(naicfc_model_init_trusted(&m, bytes, n), NAICFC_BAD_MODEL);
  bytes[0] ^= 0xFF;
  bytes[22] = 1; /* alphabet of one symbol: refused by validation, not by the checksum */
  CHECK_RESULT(naicfc_model_init_trusted(&m, bytes, n), NAICFC_BAD_MODEL);
  bytes[22] = naicfc_model_data[22];
  CHECK(memcmp(&m, &before, sizeof m) == 0); /* untouched by every failure */

  CHECK_RESULT(naicfc_model_init_trusted(&m, bytes, n), NAICFC_OK);
  CHECK(naicfc_model_dim(&m) == GOLDEN_DIM);
  CHECK(naicfc_model_size(&m) == n);
  float x[GOLDEN_DIM], y[GOLDEN_DIM];
  uint8_t out[GOLDEN_MAX_BUDGET];
  for (size_t v = 0; v < GOLDEN_VECTORS; v++) {
    load_x(v, x);
    for (size_t b = 0; b < GOLDEN_BUDGETS; b++) {
      size_t written = 0;
      CHECK_RESULT(naicfc_encode(&m, x, GOLDEN_DIM, golden_budget[b], out, sizeof out, &written),
                   NAICFC_OK);
      CHECK(written == golden_code_len[v][b] && memcmp(out, golden_code[v][b], written) == 0);
      CHECK_RESULT(naicfc_decode(&m, out, written, y, GOLDEN_DIM), NAICFC_OK);
      CHECK(memcmp(y, golden_decoded[v][b], sizeof y) == 0);
    }
  }
  free(bytes);
}

/* Every init failure, on a heap copy so ASan and valgrind see any read past the end. */
static void test_model_errors(void) {
  const size_t n = NAICFC_MODEL_DATA_LEN;
  uint8_t *bytes = malloc(n);
  naicfc_model m, before;
  memset(&m, 0x5A, sizeof m);
  before = m;

  memcpy(bytes, naicfc_model_data, n);
  CHECK_RESULT(naicfc_model_init(NULL, bytes, n), NAICFC_NULL_POINTER);
  CHECK_RESULT(naicfc_model_init(&m, NULL, n), NAICFC_NULL_POINTER);
  CHECK_RESULT(naicfc_model_init(&m, NULL, 0), NAICFC_MODEL_TRUNCATED);
  CHECK_RESULT(naicfc_model_init(&m, bytes, 3), NAICFC_MODEL_TRUNCATED);
  CHECK_RESULT(naicfc_model_init(&m, bytes, 40), NAICFC_MODEL_TRUNCATED);
  CHECK_RESULT(naicfc_model_init(&m, bytes, n - 1), NAICFC_MODEL_TRUNCATED);
  CHECK_RESULT(naicfc_model_init(&m, bytes, SIZE_MAX), NAICFC_BAD_LENGTH);
  CHECK_RESULT(naicfc_model_init((naicfc_model *)((char *)&m + 1), bytes, n),
               NAICFC_MISALIGNED_POINTER);

  bytes[0] ^= 0xFF; /* magic */
  CHECK_RESULT(naicfc_model_init(&m, bytes, n), NAICFC_BAD_MODEL);
  bytes[0] ^= 0xFF;
  bytes[4] ^= 0x40; /* format version */
  CHECK_RESULT(naicfc_model_init(&m, bytes, n), NAICFC_MODEL_VERSION);
  bytes[4] ^= 0x40;
  bytes[n / 2] ^= 0x01; /* one bit in the body */
  CHECK_RESULT(naicfc_model_init(&m, bytes, n), NAICFC_MODEL_CHECKSUM);
  bytes[n / 2] ^= 0x01;
  bytes[n - 1] ^= 0x80; /* the checksum itself */
  CHECK_RESULT(naicfc_model_init(&m, bytes, n), NAICFC_MODEL_CHECKSUM);
  bytes[n - 1] ^= 0x80;
  CHECK(memcmp(&m, &before, sizeof m) == 0); /* untouched by every failure */

  /* A handle inside the bytes it would point into. */
  uint8_t *big = malloc(n + sizeof(naicfc_model) + 8);
  memcpy(big, naicfc_model_data, n);
  naicfc_model *inside = (naicfc_model *)(big + ((n / 8) * 8 - 8));
  CHECK_RESULT(naicfc_model_init(inside, big, n), NAICFC_OVERLAPPING_BUFFERS);
  free(big);

  CHECK_RESULT(naicfc_model_init(&m, bytes, n), NAICFC_OK);
  CHECK(naicfc_model_dim(&m) == GOLDEN_DIM);

  /* Encode errors that involve the model: uninitialised handle, output over the model. */
  float x[GOLDEN_DIM];
  load_x(0, x);
  uint8_t out[64];
  size_t written = 12345;
  naicfc_model zeroed;
  memset(&zeroed, 0, sizeof zeroed);
  CHECK_RESULT(naicfc_encode(&zeroed, x, GOLDEN_DIM, 64, out, 64, &written),
               NAICFC_MODEL_UNINITIALIZED);
  CHECK_RESULT(naicfc_decode(&zeroed, golden_code[0][0], golden_code_len[0][0], x, GOLDEN_DIM),
               NAICFC_MODEL_UNINITIALIZED);
  CHECK_RESULT(naicfc_encode(&m, x, GOLDEN_DIM, 64, bytes + 100, 64, &written),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK(written == 12345);
  CHECK(naicfc_model_init(&m, bytes, n) == NAICFC_OK); /* the model bytes were not written */
  free(bytes);
}

static void test_golden(const naicfc_model *m) {
  float x[GOLDEN_DIM], y[GOLDEN_DIM + 4];
  uint8_t out[GOLDEN_MAX_BUDGET + 16];
  for (size_t v = 0; v < GOLDEN_VECTORS; v++) {
    load_x(v, x);
    for (size_t b = 0; b < GOLDEN_BUDGETS; b++) {
      const size_t budget = golden_budget[b], len = golden_code_len[v][b];
      size_t written = 0;
      memset(out, 0xA5, sizeof out);
      CHECK_RESULT(naicfc_encode(m, x, GOLDEN_DIM, budget, out, budget + 16, &written), NAICFC_OK);
      CHECK(written == len);
      CHECK(memcmp(out, golden_code[v][b], len) == 0);
      CHECK(all_bytes(out + len, budget - len, 0));      /* zeroed up to the budget */
      CHECK(all_bytes(out + budget, 16, 0xA5));          /* nothing past it */
#if GOLDEN_PADDED_CODES
      CHECK(len == budget);                              /* padded to the length coded for */
#else
      CHECK(len == 1 || out[len - 1] != 0);              /* codes never end in zero */
#endif

      memset(y, 0xA5, sizeof y);
      CHECK_RESULT(naicfc_decode(m, golden_code[v][b], len, y, GOLDEN_DIM + 4), NAICFC_OK);
      CHECK(memcmp(y, golden_decoded[v][b], GOLDEN_DIM * sizeof(float)) == 0);
      CHECK(all_bytes(y + GOLDEN_DIM, 4 * sizeof(float), 0xA5));
    }
  }
}

/* Budgets between the trained ones, and the extremes, all work and hold. */
static void test_any_budget(void) {
  float x[GOLDEN_DIM], y[GOLDEN_DIM];
  static uint8_t out[NAICFC_MAX_BUDGET];
  const size_t min = naicfc_model_min_budget(&model);
  const size_t budgets[] = {min, min + 1, 17, 33, 100, 1000, NAICFC_MAX_BUDGET};
  load_x(0, x);
  for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
    size_t written = 0;
    CHECK_RESULT(naicfc_encode(&model, x, GOLDEN_DIM, budgets[i], out, budgets[i], &written),
                 NAICFC_OK);
    CHECK(written >= 1 && written <= budgets[i]);
    CHECK_RESULT(naicfc_decode(&model, out, written, y, GOLDEN_DIM), NAICFC_OK);
  }
}

static void test_encode_errors(void) {
  float x[GOLDEN_DIM + 1];
  uint8_t out[128];
  size_t written;
  const size_t min = naicfc_model_min_budget(&model);
  load_x(0, x);
  x[GOLDEN_DIM] = 0.0f;

#define EXPECT_ENCODE_FAILS(call, want)                       \
  do {                                                        \
    memset(out, 0xA5, sizeof out);                            \
    written = 777;                                            \
    CHECK_RESULT(call, want);                                 \
    CHECK(all_bytes(out, sizeof out, 0xA5) && written == 777); \
  } while (0)

  EXPECT_ENCODE_FAILS(naicfc_encode(NULL, x, GOLDEN_DIM, 64, out, 64, &written), NAICFC_NULL_POINTER);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, NULL, GOLDEN_DIM, 64, out, 64, &written),
                      NAICFC_NULL_POINTER);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM, 64, NULL, 64, &written),
                      NAICFC_NULL_POINTER);
  CHECK_RESULT(naicfc_encode(&model, x, GOLDEN_DIM, 64, out, 64, NULL), NAICFC_NULL_POINTER);
  CHECK(all_bytes(out, sizeof out, 0xA5));
  /* NULL with length 0 is an empty buffer: a wrong length, not a NULL pointer. */
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, NULL, 0, 64, out, 64, &written), NAICFC_BAD_LENGTH);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM - 1, 64, out, 64, &written),
                      NAICFC_BAD_LENGTH);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM + 1, 64, out, 64, &written),
                      NAICFC_BAD_LENGTH);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, SIZE_MAX, 64, out, 64, &written), NAICFC_BAD_LENGTH);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM, min - 1, out, 64, &written),
                      NAICFC_BUDGET_TOO_SMALL);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM, 0, NULL, 0, &written),
                      NAICFC_BUDGET_TOO_SMALL);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM, NAICFC_MAX_BUDGET + 1, out, sizeof out,
                                    &written),
                      NAICFC_BUDGET_TOO_LARGE);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM, 64, out, 63, &written),
                      NAICFC_OUTPUT_TOO_SMALL);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, (const float *)((const char *)x + 1), GOLDEN_DIM, 64,
                                    out, 64, &written),
                      NAICFC_MISALIGNED_POINTER);
  EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM, 64, out, 64,
                                    (size_t *)((char *)&written + 1)),
                      NAICFC_MISALIGNED_POINTER);

  const float bad[] = {NAN, INFINITY, -INFINITY};
  const size_t where[] = {0, GOLDEN_DIM / 2, GOLDEN_DIM - 1};
  for (size_t i = 0; i < 3; i++) {
    for (size_t j = 0; j < 3; j++) {
      load_x(0, x);
      x[where[j]] = bad[i];
      EXPECT_ENCODE_FAILS(naicfc_encode(&model, x, GOLDEN_DIM, 64, out, 64, &written),
                          NAICFC_NON_FINITE);
    }
  }
  load_x(0, x);

  /* Output overlapping the input vector, or the length it would report. */
  float *xs = malloc(GOLDEN_DIM * sizeof(float) + 64);
  memcpy(xs, golden_x[0], GOLDEN_DIM * sizeof(float));
  CHECK_RESULT(naicfc_encode(&model, xs, GOLDEN_DIM, 64, (uint8_t *)xs + 16, 64, &written),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK(memcmp(xs, golden_x[0], GOLDEN_DIM * sizeof(float)) == 0);
  free(xs);
  size_t *len_inside = (size_t *)(void *)(out + 16);
  memset(out, 0xA5, sizeof out);
  CHECK_RESULT(naicfc_encode(&model, x, GOLDEN_DIM, 64, out, 64, len_inside),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK(all_bytes(out, sizeof out, 0xA5));
  /* The length written into an input: the vector, the handle, the model bytes. */
  /* Aligned for a size_t, inside each; the model bytes are 8-aligned read-only data, so a
   * missed check would crash here rather than pass. */
  size_t *len_in_x = (size_t *)(void *)(((uintptr_t)x + 15) & ~(uintptr_t)7);
  size_t *len_in_handle = (size_t *)(void *)&model;
  size_t *len_in_bytes = (size_t *)(void *)(uintptr_t)(naicfc_model_data + 64);
  size_t *const inputs[] = {len_in_x, len_in_handle, len_in_bytes};
  for (size_t i = 0; i < 3; i++) {
    CHECK_RESULT(naicfc_encode(&model, x, GOLDEN_DIM, 64, out, 64, inputs[i]),
                 NAICFC_OVERLAPPING_BUFFERS);
  }
  /* The handle still works (its bytes are not compared: they include padding). */
  CHECK(naicfc_model_dim(&model) == GOLDEN_DIM);
  CHECK(all_bytes(out, sizeof out, 0xA5));
  load_x(0, x);
  CHECK_RESULT(naicfc_encode(&model, x, GOLDEN_DIM, 64, out, 64, &written), NAICFC_OK);
#undef EXPECT_ENCODE_FAILS
}

/* The workspace calls: the golden bytes and floats in a workspace of exactly the size asked
 * for, at an odd address and full of garbage; every refusal writes nothing. */
static void test_workspace(void) {
  const size_t enc_len = naicfc_workspace_size(&model, NAICFC_OP_ENCODE);
  const size_t dec_len = naicfc_workspace_size(&model, NAICFC_OP_DECODE);
  CHECK(enc_len > 0 && enc_len <= NAICFC_WORKSPACE_SIZE(GOLDEN_DIM));
  CHECK(dec_len > 0 && dec_len <= NAICFC_WORKSPACE_SIZE(GOLDEN_DIM));
  CHECK(naicfc_workspace_size(&model, NAICFC_OP_ENCODE_SCALABLE) > 0);
  CHECK(naicfc_workspace_size(&model, NAICFC_OP_DECODE_SCALABLE) > 0);
  CHECK(naicfc_workspace_size(&model, 4) == 0);
  CHECK(naicfc_workspace_size(&model, UINT32_MAX) == 0);
  CHECK(naicfc_workspace_size(NULL, NAICFC_OP_ENCODE) == 0);
  printf("workspace: encode %zu bytes, decode %zu bytes\n", enc_len, dec_len);
  /* The macros, for the driver to compare with the library's sizes. */
  const size_t dims[] = {1, 7, 48, 463, 1000, 1024, 1025, 2048, 3000, 8192, 100000};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
    const size_t d = dims[i], a = d < 2048 ? d : 2048, c = d < 1024 ? d : 1024;
    printf("workspace macro dim %zu encode %zu decode %zu any %zu\n", d,
           (size_t)NAICFC_ENCODE_WORKSPACE_SIZE(a, c), (size_t)NAICFC_DECODE_WORKSPACE_SIZE(a, c),
           (size_t)NAICFC_WORKSPACE_SIZE(d));
  }

  const size_t big = enc_len > dec_len ? enc_len : dec_len;
  uint8_t *buffer = malloc(big + 1);
  uint8_t *ws = buffer + 1;
  memset(buffer, 0xC3, big + 1);
  float x[GOLDEN_DIM], y[GOLDEN_DIM];
  uint8_t out[GOLDEN_MAX_BUDGET];
  for (size_t v = 0; v < GOLDEN_VECTORS; v++) {
    load_x(v, x);
    for (size_t b = 0; b < GOLDEN_BUDGETS; b++) {
      const size_t budget = golden_budget[b], len = golden_code_len[v][b];
      size_t written = 0;
      memset(out, 0xA5, sizeof out);
      CHECK_RESULT(naicfc_encode_ws(&model, x, GOLDEN_DIM, budget, out, budget, &written, ws,
                                    enc_len),
                   NAICFC_OK);
      CHECK(written == len && memcmp(out, golden_code[v][b], len) == 0);
      memset(y, 0xA5, sizeof y);
      CHECK_RESULT(naicfc_decode_ws(&model, golden_code[v][b], len, y, GOLDEN_DIM, ws, dec_len),
                   NAICFC_OK);
      CHECK(memcmp(y, golden_decoded[v][b], sizeof y) == 0);
    }
  }

  load_x(0, x);
  size_t written = 777;
  memset(out, 0xA5, sizeof out);
  memset(y, 0xA5, sizeof y);
  const uint8_t *code = golden_code[0][0];
  const size_t code_len = golden_code_len[0][0];
  CHECK_RESULT(naicfc_encode_ws(&model, x, GOLDEN_DIM, 64, out, 64, &written, ws, enc_len - 1),
               NAICFC_WORKSPACE_TOO_SMALL);
  CHECK_RESULT(naicfc_encode_ws(&model, x, GOLDEN_DIM, 64, out, 64, &written, NULL, 0),
               NAICFC_WORKSPACE_TOO_SMALL);
  CHECK_RESULT(naicfc_encode_ws(&model, x, GOLDEN_DIM, 64, out, 64, &written, NULL, enc_len),
               NAICFC_NULL_POINTER);
  CHECK_RESULT(naicfc_encode_ws(&model, x, GOLDEN_DIM, 64, out, 64, &written, out + 8, enc_len),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK_RESULT(naicfc_encode_ws(&model, x, GOLDEN_DIM, 64, out, 64, &written, (uint8_t *)x,
                                enc_len),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK_RESULT(naicfc_encode_ws(&model, x, GOLDEN_DIM, 64, out, 64, &written, (uint8_t *)&model,
                                enc_len),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK(all_bytes(out, sizeof out, 0xA5) && written == 777);
  CHECK(memcmp(x, golden_x[0], sizeof x) == 0);
  CHECK_RESULT(naicfc_decode_ws(&model, code, code_len, y, GOLDEN_DIM, ws, dec_len - 1),
               NAICFC_WORKSPACE_TOO_SMALL);
  CHECK_RESULT(naicfc_decode_ws(&model, code, code_len, y, GOLDEN_DIM, NULL, dec_len),
               NAICFC_NULL_POINTER);
  CHECK_RESULT(naicfc_decode_ws(&model, code, code_len, y, GOLDEN_DIM, (uint8_t *)y, dec_len),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK(all_bytes(y, sizeof y, 0xA5));
  /* The workspace must not be the code either: the code is an input. */
  memcpy(buffer, code, code_len);
  CHECK_RESULT(naicfc_decode_ws(&model, buffer, code_len, y, GOLDEN_DIM, buffer + 1, dec_len),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK(all_bytes(y, sizeof y, 0xA5));
  free(buffer);
}

/* Under valgrind every decode is ~50x slower, so the driver asks for a smaller corruption
 * sweep there; ASan runs the full one. */
static int quick;

/* The scalable pair in a workspace of exactly the size asked for (the firmware test checks its
 * bytes against the host's; here the sanitizers watch the calls): the whole code and its first
 * layer decode, and refusals write nothing. */
static void test_scalable(void) {
  const size_t enc_len = naicfc_workspace_size(&model, NAICFC_OP_ENCODE_SCALABLE);
  const size_t dec_len = naicfc_workspace_size(&model, NAICFC_OP_DECODE_SCALABLE);
  CHECK(enc_len <= NAICFC_SCALABLE_WORKSPACE_SIZE(GOLDEN_DIM));
  CHECK(dec_len <= NAICFC_SCALABLE_WORKSPACE_SIZE(GOLDEN_DIM));
  const size_t count = naicfc_model_budget_count(&model);
  const size_t total = naicfc_model_budget(&model, count - 1);
  uint8_t *ws = malloc(enc_len > dec_len ? enc_len : dec_len);
  uint8_t *code = malloc(total);
  float x[GOLDEN_DIM], y[GOLDEN_DIM];
  load_x(0, x);
  size_t written = 0, layers = 0;
  CHECK_RESULT(
      naicfc_encode_scalable_ws(&model, x, GOLDEN_DIM, code, total, &written, ws, enc_len),
      NAICFC_OK);
  CHECK(written == total);
  CHECK_RESULT(naicfc_decode_scalable_ws(&model, code, total, y, GOLDEN_DIM, ws, dec_len, &layers),
               NAICFC_OK);
  CHECK(layers == count);
  CHECK_RESULT(naicfc_decode_scalable_ws(&model, code, naicfc_model_budget(&model, 0), y,
                                         GOLDEN_DIM, ws, dec_len, NULL),
               NAICFC_OK);
  written = 777;
  memset(y, 0xA5, sizeof y);
  CHECK_RESULT(
      naicfc_encode_scalable_ws(&model, x, GOLDEN_DIM, code, total, &written, NULL, enc_len),
      NAICFC_NULL_POINTER);
  CHECK_RESULT(
      naicfc_encode_scalable_ws(&model, x, GOLDEN_DIM, code, total, &written, ws, enc_len - 1),
      NAICFC_WORKSPACE_TOO_SMALL);
  CHECK_RESULT(naicfc_encode_scalable_ws(&model, x, GOLDEN_DIM - 1, code, total, &written, ws,
                                         enc_len),
               NAICFC_BAD_LENGTH);
  CHECK(written == 777);
  CHECK_RESULT(naicfc_decode_scalable_ws(&model, code, total - 1, y, GOLDEN_DIM, ws, dec_len,
                                         &layers),
               NAICFC_CORRUPT_STREAM);
  CHECK_RESULT(naicfc_decode_scalable_ws(&model, code, total, y, GOLDEN_DIM, ws, dec_len,
                                         (size_t *)(void *)ws),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK(all_bytes((const uint8_t *)y, sizeof y, 0xA5));
  free(code);
  free(ws);
}

static void test_decode_errors(void) {
  float y[GOLDEN_DIM];
  uint8_t code[GOLDEN_MAX_BUDGET + 1];
  const size_t len = golden_code_len[0][2];
  memcpy(code, golden_code[0][2], len);

#define EXPECT_DECODE_FAILS(call, want)       \
  do {                                        \
    memset(y, 0xA5, sizeof y);                \
    CHECK_RESULT(call, want);                 \
    CHECK(all_bytes(y, sizeof y, 0xA5));      \
  } while (0)

  EXPECT_DECODE_FAILS(naicfc_decode(NULL, code, len, y, GOLDEN_DIM), NAICFC_NULL_POINTER);
  EXPECT_DECODE_FAILS(naicfc_decode(&model, NULL, len, y, GOLDEN_DIM), NAICFC_NULL_POINTER);
  EXPECT_DECODE_FAILS(naicfc_decode(&model, code, len, NULL, GOLDEN_DIM), NAICFC_NULL_POINTER);
  EXPECT_DECODE_FAILS(naicfc_decode(&model, NULL, 0, y, GOLDEN_DIM), NAICFC_CORRUPT_STREAM);
  EXPECT_DECODE_FAILS(naicfc_decode(&model, code, 0, y, GOLDEN_DIM), NAICFC_CORRUPT_STREAM);
  EXPECT_DECODE_FAILS(naicfc_decode(&model, code, len, y, GOLDEN_DIM - 1), NAICFC_OUTPUT_TOO_SMALL);
  EXPECT_DECODE_FAILS(naicfc_decode(&model, code, len, (float *)((char *)y + 2), GOLDEN_DIM - 1),
                      NAICFC_MISALIGNED_POINTER);
  EXPECT_DECODE_FAILS(naicfc_decode(&model, code, len, y, SIZE_MAX), NAICFC_BAD_LENGTH);
  /* Longer than any code: reads nothing past the model's own bytes either. */
  EXPECT_DECODE_FAILS(naicfc_decode(&model, naicfc_model_data, NAICFC_MAX_BUDGET + 1, y, GOLDEN_DIM),
                      NAICFC_CORRUPT_STREAM);
#if !GOLDEN_PADDED_CODES
  /* Codes never end in a zero byte, so one with a zero appended is not a code. */
  code[len] = 0;
  EXPECT_DECODE_FAILS(naicfc_decode(&model, code, len + 1, y, GOLDEN_DIM), NAICFC_CORRUPT_STREAM);
#endif

  /* Output over the code it decodes. */
  float *buf = malloc(GOLDEN_DIM * sizeof(float));
  memcpy(buf, golden_code[0][2], len);
  CHECK_RESULT(naicfc_decode(&model, (const uint8_t *)buf, len, buf, GOLDEN_DIM),
               NAICFC_OVERLAPPING_BUFFERS);
  CHECK(memcmp(buf, golden_code[0][2], len) == 0);
  free(buf);

  /* Corruption: every single-bit flip and every truncation of every golden code either
   * decodes or is rejected, and a rejection leaves the output alone. A heap copy of exactly
   * the code's length lets ASan and valgrind catch any read past it. */
  unsigned rejected = 0, tried = 0;
  for (size_t v = 0; v < (quick ? 1 : GOLDEN_VECTORS); v++) {
    for (size_t b = 0; b < (quick ? 2 : GOLDEN_BUDGETS); b++) {
      const size_t n = golden_code_len[v][b];
      for (size_t cut = 0; cut <= n; cut++) {
        for (size_t bit = 0; bit <= (cut == n ? 8 * n : 0); bit++) {
          uint8_t *c = malloc(cut ? cut : 1);
          memcpy(c, golden_code[v][b], cut);
          if (cut == n && bit < 8 * n) c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
          if (cut == n && bit == 8 * n) { free(c); continue; } /* the intact code */
          memset(y, 0xA5, sizeof y);
          naicfc_result r = naicfc_decode(&model, c, cut, y, GOLDEN_DIM);
          tried++;
          CHECK(r == NAICFC_OK || r == NAICFC_CORRUPT_STREAM);
          if (r != NAICFC_OK) {
            rejected++;
            CHECK(all_bytes(y, sizeof y, 0xA5));
          }
          free(c);
        }
      }
    }
  }
  printf("corruption: %u of %u damaged codes rejected, the rest decoded\n", rejected, tried);
  CHECK(rejected > 0);
#undef EXPECT_DECODE_FAILS
}

/* One model, many threads: no global state, so every thread gets the golden bytes. */
static void *worker(void *arg) {
  unsigned *bad = arg;
  float x[GOLDEN_DIM], y[GOLDEN_DIM];
  uint8_t out[GOLDEN_MAX_BUDGET];
  for (int round = 0; round < 4; round++) {
    for (size_t v = 0; v < GOLDEN_VECTORS; v++) {
      load_x(v, x);
      for (size_t b = 0; b < GOLDEN_BUDGETS; b++) {
        size_t written = 0;
        if (naicfc_encode(&model, x, GOLDEN_DIM, golden_budget[b], out, sizeof out, &written) !=
                NAICFC_OK ||
            written != golden_code_len[v][b] || memcmp(out, golden_code[v][b], written) != 0)
          (*bad)++;
        if (naicfc_decode(&model, out, written, y, GOLDEN_DIM) != NAICFC_OK ||
            memcmp(y, golden_decoded[v][b], sizeof y) != 0)
          (*bad)++;
      }
    }
  }
  return NULL;
}

static void test_threads(void) {
  enum { THREADS = 4 };
  pthread_t t[THREADS];
  unsigned bad[THREADS] = {0};
  for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, &bad[i]) == 0);
  for (int i = 0; i < THREADS; i++) {
    CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(bad[i] == 0);
  }
}

int main(int argc, char **argv) {
  quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  printf("naicfc %s (format %u), model of %u bytes, dimension %u\n", naicfc_version(),
         (unsigned)naicfc_format_version(), (unsigned)NAICFC_MODEL_DATA_LEN, (unsigned)GOLDEN_DIM);
  test_versions();
  test_strerror();
  test_model();
  test_model_errors();
  test_handle_fully_written();
  test_model_length();
  test_init_trusted();
  test_golden(&model);
  test_any_budget();
  test_encode_errors();
  test_workspace();
  test_scalable();
  test_decode_errors();
  test_threads();
  printf("host_test: %u checks passed, %u failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
