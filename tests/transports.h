/*
 * Every transport a client framer speaks (tgb_transport in tgbotapi.h): the four plain
 * ones and the three obfuscated2 wraps. The transport fuzz target and its corpus
 * generator pick from it by index, so its order is part of fuzz/corpus/transport.
 */
#ifndef TGB_TESTS_TRANSPORTS_H
#define TGB_TESTS_TRANSPORTS_H

#include <tgbotapi/tgbotapi.h>

static const int all_transports[] = {
    TGB_TRANSPORT_ABRIDGED,
    TGB_TRANSPORT_INTERMEDIATE,
    TGB_TRANSPORT_PADDED_INTERMEDIATE,
    TGB_TRANSPORT_FULL,
    TGB_TRANSPORT_ABRIDGED | TGB_TRANSPORT_OBFUSCATED,
    TGB_TRANSPORT_INTERMEDIATE | TGB_TRANSPORT_OBFUSCATED,
    TGB_TRANSPORT_PADDED_INTERMEDIATE | TGB_TRANSPORT_OBFUSCATED,
};
#define NTRANSPORTS (sizeof(all_transports) / sizeof(all_transports[0]))

#endif
