# tests for transcode
