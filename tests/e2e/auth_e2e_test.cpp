// Access control and HTTPS against the sinkhost binary.
#include <gtest/gtest.h>
