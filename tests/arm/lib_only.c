/* The library alone, for the code-size report: every public function of finwidth.h compiled
   for Cortex-M at -Os. */
#define FINWIDTH_IMPLEMENTATION
#include "../../finwidth.h"
