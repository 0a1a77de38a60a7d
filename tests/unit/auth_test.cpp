// Access control: users file, password checks (filled in with --auth).
#include <gtest/gtest.h>
