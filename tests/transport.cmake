# tests for transport
