/* Compress one feature vector into 64 bytes on the device, then restore it as the server
 * would. Build: cc example.c -I include libnaicfc.a (plus -lpthread -ldl -lm on Linux). */
#include <stdio.h>

#include "naicfc.h"
#include "naicfc_model.h" /* naicfc export-c --model model.nfcm --out naicfc_model.h */

#define DIM 2048
#define BUDGET 64

static naicfc_model model; /* the parsed model; points into naicfc_model_data, no heap */
static float features[DIM], restored[DIM];
static uint8_t code[BUDGET];
/* Working memory of the _ws calls, enough for any 2048-d model, so that they need under
 * 2 KiB of stack; naicfc_workspace_size() gives one model's exact need. (naicfc_encode and
 * naicfc_decode take no workspace and use up to 21 KiB of stack instead.) */
static uint8_t workspace[NAICFC_WORKSPACE_SIZE(DIM)];

int main(void) {
  naicfc_result r = naicfc_model_init(&model, naicfc_model_data, NAICFC_MODEL_DATA_LEN);
  if (r != NAICFC_OK || naicfc_model_dim(&model) != DIM) {
    printf("model: %s\n", naicfc_strerror(r));
    return 1;
  }
  for (int i = 0; i < DIM; i++) features[i] = (float)(i % 7) * 0.1f; /* your network's output */
  size_t len = 0;
  r = naicfc_encode_ws(&model, features, DIM, BUDGET, code, sizeof code, &len, workspace,
                       sizeof workspace);
  if (r == NAICFC_OK)
    r = naicfc_decode_ws(&model, code, len, restored, DIM, workspace, sizeof workspace);
  if (r != NAICFC_OK) {
    printf("naicfc: %s\n", naicfc_strerror(r));
    return 1;
  }
  printf("%zu-byte code; %d floats restored (workspace %zu of %zu bytes)\n", len, DIM,
         naicfc_workspace_size(&model, NAICFC_OP_DECODE), sizeof workspace);
  return 0;
}
