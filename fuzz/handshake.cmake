# fuzz targets for handshake
