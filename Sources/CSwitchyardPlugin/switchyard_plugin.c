// CSwitchyardPlugin is header-only: include/switchyard_plugin.h is the ABI. SwiftPM needs one
// translation unit to build the target; this one checks that the header compiles as plain C.
#include "switchyard_plugin.h"
