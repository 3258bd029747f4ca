package voiceprint

// ToleranceFactor exports toleranceFactor to the package's external tests.
var ToleranceFactor = toleranceFactor
