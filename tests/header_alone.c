/* The public header must compile on its own, as strict C11 and as C++ (see build.cmake). */
#include <tgbotapi/tgbotapi.h>

int header_alone_compiles(void);
int header_alone_compiles(void)
{
    return TGB_TL_LAYER + (int)TGB_OK;
}
