// Secrets: the secret box, masking, rotation (filled in with the data protection work).
#include <gtest/gtest.h>
