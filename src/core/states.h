/* states.h -- USPS codes of the 50 states, DC and the US territories, as bits of a mask. */
#ifndef SC_STATES_H
#define SC_STATES_H

#include <stdint.h>

#define STATES_COUNT 56 /* 50 states, DC, PR, VI, GU, AS, MP */

/* Returns the index (0..STATES_COUNT-1) of a two-letter upper-case USPS code, or -1. */
int states_index(const char *code);

/* Returns the USPS code of an index, or NULL when out of range. */
const char *states_code(int index);

/* Returns the mask bit of a code, or 0 when the code is not a known state. */
uint64_t states_bit(const char *code);

#endif
