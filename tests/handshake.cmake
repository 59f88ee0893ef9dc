# tests for handshake
