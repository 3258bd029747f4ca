package eval_test

import (
	"fmt"
	"strings"

	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

func ExampleEER() {
	targets := []float64{1, 4, 5, 6}
	nontargets := []float64{0, 2, 2.5, 3.5}
	eer, thr, _ := eval.EER(targets, nontargets)
	dcf, _, _ := eval.MinDCF(targets, nontargets, eval.DefaultDCF)
	fmt.Printf("EER %.0f%% at %.1f, minDCF %.2f\n", 100*eer, thr, dcf)
	// Output: EER 25% at 3.5, minDCF 0.25
}

func ExampleParseTrials() {
	list := "# label enrol test\n1 a/1.wav,a/2.wav a/3.wav\n0 a/1.wav b/1.wav\n"
	trials, err := eval.ParseTrials(strings.NewReader(list))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range trials {
		fmt.Println(t.Target, len(t.Enroll), t.Test)
	}
	// Output:
	// true 2 a/3.wav
	// false 1 b/1.wav
}
