/*
 * A 2048-bit RSA key made for tests (`openssl genpkey`); no data centre uses it. Shared
 * by tests/test_handshake.c and the handshake fuzz targets, whose corpus seeds were
 * made with it.
 */
#ifndef TGB_TESTS_TEST_KEY_H
#define TGB_TESTS_TEST_KEY_H

static const char TEST_KEY_PEM[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDCpBjxUvQYX229\n"
    "5jOJ8pVzjGJ16fbpqtdEDJDOv1FCLRkJn5wvaEF7LvHcEkwe3ecuHI8XlYpaGJkU\n"
    "NYkl9VUaijtEoFSoysFPmP8I8W/pA6Ie1j1p3sdmrCDmSWuOovrgUuKTAV36SREP\n"
    "Ll6MxwGpcJ8f6GcSOEfPSP7w3xHzuDCLoUGjOWmzX4lQATFQJaXx0Sixo09oZzX5\n"
    "tDnCnkCEpiITzPDqTCvvJF2MpEAKQoZbfl3zYDTqVuTJxZ/ECXr25AfOmSHrAKSv\n"
    "kgp0tO1W4KKOCTrB+ukCSVWC3QS/iJR1wqCER0dwDQJTcDZAVR3zXSrPRUCeKFFg\n"
    "FuluS/sTAgMBAAECggEAGvZtaBykKK4rfxdhA1aB4nhLeWcYJ6VdXZVaB/HTuVWS\n"
    "9tTP53dLPtuxcFluhwYZTLdzEQLLoBBxQC3sWkBCckM805RcNeekYLjid2Quqvow\n"
    "XpIx/rT4LV5hzlTUW/VyyFli/pc9Y/r0LISxX1IABm9N87cXdBwswmervUVBcN/Q\n"
    "Sf2DHD4O2deRkCY8LVKVo9/JX48ynaqc2vxXPZUgIYe8w2WT9tFIFIcksg1s8Uwq\n"
    "IEl1x4yXEpSVFb+qzW4Iz9jtx7oE6clqGXlrIaTXv87YHVu6B8Je/KiOhgmaVuB1\n"
    "1BaZvovuSwQd35iMC9mE2HunuGseCxpRLAIAcOL1eQKBgQD5ssU+pfyYhfltkegc\n"
    "efbJjSmxvuL1CZrkd7Yp6+NX2fRotNkyYfHqCuKoimxsQKWdooMU6qpamqWAOyE2\n"
    "UuWmb0k+2Z/N62jp4pz7+D25gG+PXQEiFs0UrW4g4u3FlLpzoYJJK7J0ATFBEYRu\n"
    "5R/ZzfX+jqk3hU+Hy/3rt/uUawKBgQDHjZ4K63731x0ehy/mHDFJeu7bMr7wKh3s\n"
    "mMHWbcdzf2YvqOg6prclZwVXhm/4e0nhehi1Yu9ja/GGjiRDLIJqS5PNYTSVU2AR\n"
    "ruzj4GNBTFZCqHFO3dcj677DIyN5TIlGnRx2nS7vaE4ITDAAP+j72FnCPPLC1ZVQ\n"
    "lW6hnnmd+QKBgQCdUAS2oIqQaS+o2Vi7wBc8CgRvqEyChmegcs9AgA2+BmHWKcIA\n"
    "3PY1NmBwQK1oUh5FPuKIpgNni7CjJh2ZhQaMIeaqgx8L87koSQ4QLOhuWz1tu/F/\n"
    "0Y+o7E7Kx013wmjpeqKDiNUoAqxOS0P9PbsgVIMbujNf+EwPyPQTstj8OwKBgQCr\n"
    "Dx/CNpsxcyoYCESsGdC6L3JfXoHEuCXMsim/WX2W6Ue8ZSslU9I9crFmlOyY8X6k\n"
    "lRhnLLcO3/I7qM828gmdesnpTYFY3A7HOc8BjFEpIXn0TBZNR+dreGOfPRjkmxI2\n"
    "AOnsV9NrEFuLy1t+a0qZ0J0o3zwufg4v9NjQHFweaQKBgQDAqjxn9R8hzaVrvJyO\n"
    "ODRlKlR6Q44lYb53PZ/8f8NRAiEN+/uP41r5yHOBjQ69oqmLDnHjVunWuN4aatkz\n"
    "WIWnQ6kQ3gufH6c4mMsZyIj5DrBFbEBp6IgGB1CyNMyLY5k3oXTwHLC2hVm0+rgA\n"
    "/h6wmFJnv3PN1B8JW8bnTRsBrw==\n"
    "-----END PRIVATE KEY-----\n";

#endif
