//go:build !portaudio

package main

func micSupport() string { return "not built in (make build-portaudio)" }
