/*
 * The smallest program using libtgbotapi: prints the library's version, the Bot API
 * version and MTProto layer it implements, and how it names an error. .ci/run builds it
 * against the installed library, once with pkg-config and once with CMake's
 * find_package(tgbotapi), to prove both ways of consuming the library work.
 *
 *   cc hello_tgbotapi.c $(pkg-config --cflags --libs tgbotapi) -o hello_tgbotapi
 */
#include <tgbotapi/tgbotapi.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    printf("libtgbotapi %s (header %s), Bot API %s, MTProto layer %d\n", tgb_version(),
           TGB_VERSION_STRING, TGB_BOT_API_VERSION, tgb_tl_layer());
    printf("%s: %s\n", tgb_error_name(TGB_ERR_TL_TRUNCATED), tgb_strerror(TGB_ERR_TL_TRUNCATED));
    /* a program compiled against one header and run against another library notices */
    return strcmp(tgb_version(), TGB_VERSION_STRING) == 0 ? 0 : 1;
}
