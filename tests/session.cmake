# tests for session
