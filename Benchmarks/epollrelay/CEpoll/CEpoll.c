// Empty: SwiftPM wants a source file in a C target. Everything is in include/CEpoll.h.
#include "CEpoll.h"
