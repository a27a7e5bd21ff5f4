/* Instruction counts of the C API on the host, for callgrind:
 *   valgrind --tool=callgrind --toggle-collect=naicfc_encode ./bench encode BUDGET_INDEX
 * counts only instructions inside naicfc_encode (and what it calls). The program runs the
 * operation once per golden vector, so the driver divides the total by GOLDEN_VECTORS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "naicfc.h"
#include "naicfc_model.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench init|encode|decode BUDGET_INDEX\n");
    return 2;
  }
  const char *op = argv[1];
  const size_t b = (size_t)atoi(argv[2]);
  static naicfc_model model;
  static float x[GOLDEN_DIM], y[GOLDEN_DIM];
  static uint8_t code[GOLDEN_MAX_BUDGET];
  if (b >= GOLDEN_BUDGETS) return 2;
  for (size_t v = 0; v < GOLDEN_VECTORS; v++) {
    if (naicfc_model_init(&model, naicfc_model_data, NAICFC_MODEL_DATA_LEN) != NAICFC_OK) return 1;
    if (strcmp(op, "init") == 0) continue;
    memcpy(x, golden_x[v], sizeof x);
    size_t written = 0;
    if (strcmp(op, "encode") == 0) {
      if (naicfc_encode(&model, x, GOLDEN_DIM, golden_budget[b], code, sizeof code, &written) !=
          NAICFC_OK)
        return 1;
    } else if (strcmp(op, "decode") == 0) {
      if (naicfc_decode(&model, golden_code[v][b], golden_code_len[v][b], y, GOLDEN_DIM) !=
          NAICFC_OK)
        return 1;
    } else {
      return 2;
    }
  }
  printf("%s ok\n", op);
  return 0;
}
