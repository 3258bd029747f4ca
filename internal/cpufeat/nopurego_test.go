//go:build !purego

package cpufeat

const isPurego = false
