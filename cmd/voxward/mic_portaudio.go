//go:build portaudio

package main

func micSupport() string { return "built in (PortAudio)" }
