// Secrets against the sinkhost binary: no secret in any file or log; restarts keep working.
#include <gtest/gtest.h>
