/* states.c -- the USPS codes SureConnect routes by: 50 states, DC and five territories. */
#include "states.h"

#include <string.h>

/* Sorted, so a lookup is a binary search; the index of a code is its bit in a mask. */
static const char states_codes[STATES_COUNT][3] = {
    "AK", "AL", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI",
    "IA", "ID", "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MP",
    "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA",
    "PR", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
};

int states_index(const char *code)
{
    if (!code || !code[0] || !code[1] || code[2])
        return -1;
    int lo = 0, hi = STATES_COUNT - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strncmp(code, states_codes[mid], 2);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

const char *states_code(int index)
{
    if (index < 0 || index >= STATES_COUNT)
        return NULL;
    return states_codes[index];
}

uint64_t states_bit(const char *code)
{
    int i = states_index(code);
    return i < 0 ? 0 : (uint64_t)1 << i;
}
