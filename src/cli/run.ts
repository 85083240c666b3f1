// Runs the CLI from source (tsx); the installed `hrsync` runs the compiled twin.
import { main } from './main.js';

await main(process.argv);
