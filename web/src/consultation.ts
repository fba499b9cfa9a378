// A consultation's participation against the thresholds of Civil Code Art. 278: two thirds of the
// exclusive area and two thirds of the owners take part. The exact fractions are mediation's; the
// percentages here only draw the bars and the line.

export interface Ratio { part: string; whole: string; ratio: string; percent: string | number }
export interface Check { name: string; value: string; threshold: string; comparison: '>' | '>='; passed: boolean }

export const TWO_THIRDS_PERCENT = 200 / 3

export function fraction(text: string): number {
  const [p, q] = text.split('/').map(Number)
  return q ? p / q : Number(text)
}

/** Bars (participation by area and by headcount, in %) and the threshold line of each. */
export function participationSeries(result: { participation_by_area: Ratio; participation_by_headcount: Ratio; checks: Check[] }) {
  // The rule plugin names its checks (mediation rules.py); a rule without one is drawn at 2/3.
  const threshold = (name: string) => {
    const check = result.checks.find((c) => c.name === name)
    return check ? fraction(check.threshold) * 100 : TWO_THIRDS_PERCENT
  }
  return [
    { key: 'area', percent: Number(result.participation_by_area.percent), line: threshold('participation_by_area'),
      part: result.participation_by_area.part, whole: result.participation_by_area.whole },
    { key: 'headcount', percent: Number(result.participation_by_headcount.percent), line: threshold('participation_by_headcount'),
      part: result.participation_by_headcount.part, whole: result.participation_by_headcount.whole },
  ].map((bar) => ({ ...bar, reached: bar.percent >= bar.line - 1e-9 }))
}

/** The ECharts option for those bars, with the 2/3 line drawn across. */
export function participationOption(bars: ReturnType<typeof participationSeries>, labels: { area: string; headcount: string; line: string }) {
  return {
    animation: false,
    grid: { left: 48, right: 16, top: 24, bottom: 32 },
    xAxis: { type: 'category', data: bars.map((b) => labels[b.key as 'area' | 'headcount']) },
    yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
    series: [{
      type: 'bar', barWidth: '40%',
      data: bars.map((b) => ({ value: Math.round(b.percent * 100) / 100, itemStyle: { color: b.reached ? '#2e7d32' : '#c62828' } })),
      label: { show: true, position: 'top', formatter: '{c}%' },
      // The line's label inside the plot, above its end: at the right edge it was cut off (and on a phone).
      markLine: { symbol: 'none', label: { formatter: labels.line, position: 'insideEndTop' }, lineStyle: { color: '#b71c1c', type: 'dashed' },
        data: [{ yAxis: Math.round(bars[0].line * 100) / 100 }] },
    }],
  }
}
