module github.com/voxward/voxward

go 1.24.0
