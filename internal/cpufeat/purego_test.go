//go:build purego

package cpufeat

const isPurego = true
