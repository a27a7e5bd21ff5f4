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

int main(void) {
  naicfc_result r = naicfc_model_init(&model, naicfc_model_data, NAICFC_MODEL_DATA_LEN);
  if (r != NAICFC_OK || naicfc_model_dim(&model) != DIM) {
    printf("model: %s\n", naicfc_strerror(r));
    return 1;
  }
  for (int i = 0; i < DIM; i++) features[i] = (float)(i % 7) * 0.1f; /* your network's output */
  size_t len = 0;
  r = naicfc_encode(&model, features, DIM, BUDGET, code, sizeof code, &len);
  if (r == NAICFC_OK) r = naicfc_decode(&model, code, len, restored, DIM);
  if (r != NAICFC_OK) {
    printf("naicfc: %s\n", naicfc_strerror(r));
    return 1;
  }
  printf("%zu-byte code; %d floats restored\n", len, DIM);
  return 0;
}
