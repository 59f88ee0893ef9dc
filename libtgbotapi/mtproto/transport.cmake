# mtproto/transport: list sources with list(APPEND TGB_MTPROTO_SOURCES ...)
