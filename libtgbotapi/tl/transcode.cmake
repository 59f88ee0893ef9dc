# tl/tl_transcode: list(APPEND TGB_TL_SOURCES ...)
