/** The part of seek-bzip (2.0, ships no types) the npz reader uses. */
declare module 'seek-bzip' {
  const Bunzip: { decode(input: Buffer, output?: Buffer): Buffer };
  export default Bunzip;
}
