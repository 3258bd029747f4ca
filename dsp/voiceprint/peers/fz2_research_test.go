//go:build research

package peers

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/voxward/voxward/dsp/voiceprint"
	"github.com/voxward/voxward/dsp/voiceprint/eval"
)

func statVecs(t *testing.T, enrolKeys, testKeys []string, o eval.Options) [][]float64 {
	cfg := frontEnd()
	fes := make([]*voiceprint.SpeechFeatures, 2)
	for w := range fes {
		fes[w], _ = voiceprint.NewSpeechFeatures(cfg)
	}
	vecs := make([][]float64, len(enrolKeys)+len(testKeys))
	err := eval.ReadSides(context.Background(), enrolKeys, testKeys, o, "stats", func(w, i int, files [][]float32) error {
		st := newFrameStats(cfg.FeatureDim())
		for _, x := range files {
			st.add(rawFrames(fes[w], x))
		}
		v := st.statsVector(cfg.NumCeps)
		switch os.Getenv("FZ_PART") {
		case "mean":
			v = v[:cfg.NumCeps-1]
		case "std":
			v = v[cfg.NumCeps-1:]
		case "mean60", "mean20":
			k := cfg.FeatureDim()
			if os.Getenv("FZ_PART") == "mean20" {
				k = cfg.NumCeps
			}
			v = make([]float64, 2*k)
			for d := 0; d < k; d++ {
				v[d] = st.sum[d] / float64(max(st.n, 1))
				v[k+d] = st.sq[d] / float64(max(st.n, 1))
			}
		}
		vecs[i] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return vecs
}

var statsCut func([][]float64)

type prep struct{ mean, std []float64 }

func (p prep) apply(v []float64, mode int) []float64 {
	out := make([]float64, len(v))
	var n float64
	for i := range v {
		x := v[i]
		if mode >= 1 {
			x -= p.mean[i]
		}
		if mode >= 2 {
			x /= p.std[i]
		}
		out[i] = x
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range out {
		out[i] /= n
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func normOf(v []float64, cohort [][]float64, top int) (float64, float64) {
	s := make([]float64, len(cohort))
	for i, c := range cohort {
		s[i] = dot(v, c)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(s)))
	s = s[:top]
	var m, q float64
	for _, x := range s {
		m += x
	}
	m /= float64(top)
	for _, x := range s {
		q += (x - m) * (x - m)
	}
	return m, math.Sqrt(q / float64(top))
}

func TestFuseStatsSnorm(t *testing.T) {
	root := "/work/shared/data"
	m, err := voiceprint.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	train, _ := filepath.Glob(filepath.Join(root, "librispeech/train-clean-100/*/*.wav"))
	for i := range train {
		train[i] = strings.TrimPrefix(train[i], root+"/")
	}
	for _, list := range []string{"dev_testother_1v1", "dev_multilingual_1v1"} {
		fh, _ := os.Open(filepath.Join(root, "trials", list+".txt"))
		trials, _ := eval.ParseTrials(fh)
		fh.Close()
		for _, ch := range []string{"none", "telephone", "narrowband", "noise10", "nb-both", "short"} {
			o := eval.Options{AudioRoot: root, Jobs: 2}
			switch ch {
			case "nb-both":
				o.Augment, o.AugmentEnrol = "narrowband", true
			case "short":
				o.TestSamples = 3 * 16000
			default:
				o.Augment = ch
			}
			rm, err := eval.Model(context.Background(), m, trials, o)
			if err != nil {
				t.Fatal(err)
			}
			tv := statVecs(t, train, nil, eval.Options{AudioRoot: root, Jobs: 2})
			if strings.HasPrefix(os.Getenv("FZ_PART"), "mean") && len(tv[0])%2 == 0 && os.Getenv("FZ_PART") != "mean" {
				k := len(tv[0]) / 2
				gm, gq := make([]float64, k), make([]float64, k)
				for _, v := range tv {
					for d := 0; d < k; d++ {
						gm[d] += v[d] / float64(len(tv))
						gq[d] += v[k+d] / float64(len(tv))
					}
				}
				sd := make([]float64, k)
				for d := range sd {
					sd[d] = math.Sqrt(gq[d] - gm[d]*gm[d])
					if os.Getenv("FZ_NOSCALE") != "" {
						sd[d] = 1
					}
				}
				cut := func(vs [][]float64) {
					for i, v := range vs {
						o := make([]float64, k)
						for d := range o {
							o[d] = v[d] / sd[d]
						}
						vs[i] = o
					}
				}
				cut(tv)
				defer func() {}()
				statsCut = cut
			}
			var p prep
			d := len(tv[0])
			p.mean, p.std = make([]float64, d), make([]float64, d)
			for _, v := range tv {
				for i := range v {
					p.mean[i] += v[i] / float64(len(tv))
				}
			}
			for _, v := range tv {
				for i := range v {
					p.std[i] += (v[i] - p.mean[i]) * (v[i] - p.mean[i]) / float64(len(tv))
				}
			}
			for i := range p.std {
				p.std[i] = math.Sqrt(p.std[i])
			}
			ek, tk := eval.TrialKeys(trials)
			vecs := statVecs(t, ek, tk, o)
			if statsCut != nil {
				statsCut(vecs)
				statsCut = nil
			}
			line := fmt.Sprintf("%-22s %-10s model %5.2f |", list, ch, 100*rm.EER)
			for mode := 0; mode < 2; mode++ {
				coh := make([][]float64, len(tv))
				for i, v := range tv {
					coh[i] = p.apply(v, mode)
				}
				type nv struct {
					v    []float64
					m, s float64
				}
				sides := make([]nv, len(vecs))
				for i, v := range vecs {
					sides[i].v = p.apply(v, mode)
					sides[i].m, sides[i].s = normOf(sides[i].v, coh, 100)
				}
				sc := eval.ScoreTrials(trials, ek, tk, sides, func(a, b nv) float64 {
					c := dot(a.v, b.v)
					return 0.5 * ((c-a.m)/a.s + (c-b.m)/b.s)
				})
				rs, _ := eval.NewResult(trials, sc, time.Now())
				_ = rs
				line += fmt.Sprintf(" m%d stats %5.2f:", mode, 100*rs.EER)
				for _, w := range []float64{0.2, 0.25, 0.33} {
					ft, fn := make([]float64, len(rm.TargetScores)), make([]float64, len(rm.NontargetScores))
					for i := range ft {
						ft[i] = rm.TargetScores[i] + w*rs.TargetScores[i]
					}
					for i := range fn {
						fn[i] = rm.NontargetScores[i] + w*rs.NontargetScores[i]
					}
					e, _, _ := eval.EER(ft, fn)
					line += fmt.Sprintf(" %5.2f", 100*e)
				}
			}
			t.Log(line)
		}
	}
}
