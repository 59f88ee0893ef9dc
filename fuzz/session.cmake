# fuzz targets for session
