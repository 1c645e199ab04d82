import Foundation
import VigilCLI

exit(await VigilMain.run())
