// Distinguishable colours for series; cycles after ten.
const colours = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00', '#b82e2e', '#316395'];

export function palette(index: number): string {
  return colours[index % colours.length] ?? '#888';
}
