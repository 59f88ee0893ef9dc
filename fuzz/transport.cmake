# fuzz targets for transport
