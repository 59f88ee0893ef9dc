# tests for tl/tl_transcode: older layers read and written with the structs of 228
tgb_add_test(test_transcode test_transcode.c)
