import { describe, expect, test } from 'vitest'
import { fraction, participationOption, participationSeries } from './consultation'

const ratio = (part: string, whole: string, percent: string) => ({ part, whole, ratio: `${part}/${whole}`, percent })
const result = (areaPart: string, ownersPart: string) => ({
  participation_by_area: ratio(areaPart, '300', String((Number(areaPart) / 300) * 100)),
  participation_by_headcount: ratio(ownersPart, '3', String((Number(ownersPart) / 3) * 100)),
  checks: [
    { name: 'participation_by_area', value: `${areaPart}/300`, threshold: '2/3', comparison: '>=' as const, passed: false },
    { name: 'participation_by_headcount', value: `${ownersPart}/3`, threshold: '2/3', comparison: '>=' as const, passed: false },
  ],
})

describe('participation against the 2/3 lines (Civil Code Art. 278)', () => {
  test('exactly two thirds reaches the line; one less does not', () => {
    const [area, heads] = participationSeries(result('200', '1'))
    expect(area.reached).toBe(true)
    expect(heads.reached).toBe(false)
    expect(participationSeries(result('199', '2'))[0].reached).toBe(false)
    expect(participationSeries(result('199', '2'))[1].reached).toBe(true)
  })
  test('the line is the rule\'s threshold', () => {
    expect(participationSeries(result('0', '0'))[0].line).toBeCloseTo(66.667, 2)
    expect(fraction('3/4')).toBe(0.75)
  })
  test('the chart draws bars coloured by reached and one line', () => {
    const option = participationOption(participationSeries(result('200', '1')), { area: 'A', headcount: 'H', line: '2/3' })
    expect(option.xAxis.data).toEqual(['A', 'H'])
    expect(option.series[0].data.map((d: any) => d.itemStyle.color)).toEqual(['#2e7d32', '#c62828'])
    expect(option.series[0].markLine.data).toEqual([{ yAxis: 66.67 }])
    expect(option.series[0].markLine.label.position).toBe('insideEndTop') // inside the plot, not cut off at its edge
  })
})
