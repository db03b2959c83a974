// xxHash (BSD-2-Clause, Debian's libxxhash-dev): the content hash of inputs and outputs in the job store.
#include <xxhash.h>
